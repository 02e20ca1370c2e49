"""Widgets: ipywidgets controls wired to vaelab.plots. They own no maths; each keeps its Output, the last
figure (`.figure`) and what it showed (`.last_data`), and displays itself when it is a cell's last value."""
from ._base import Explorer
from .demo import ClickCounterDemo
from .latent import DecoderExplorer, InterpolationExplorer, decoder_explorer, interpolation_explorer
from .mmd import LambdaSweepExplorer, TwoSampleExplorer, lambda_sweep_explorer, two_sample_explorer
from .sweep import BetaSweepExplorer, beta_sweep_explorer
from .posterior import PosteriorExplorer, posterior_explorer
from .collapse import CollapseExplorer, collapse_explorer
from .savae import RefinementPathExplorer, refinement_path_explorer
from .langevin import LangevinExplorer, langevin_explorer
from .kit import ExamplePicker, LatentSliders, ModelExplorer, ModelPicker, map_labels
from .latent_tour import DecodeExplorer, MapExplorer, interactive_figure, ipympl_active, ipympl_available
from .latent_walks import CompareExplorer, NeighbourExplorer, PathExplorer, SampleExplorer, TraversalExplorer

__all__ = ["LangevinExplorer", "langevin_explorer", "Explorer", "ClickCounterDemo", "DecoderExplorer", "InterpolationExplorer", "decoder_explorer",
           "interpolation_explorer", "BetaSweepExplorer", "beta_sweep_explorer", "PosteriorExplorer",
           "posterior_explorer",
           "LambdaSweepExplorer", "TwoSampleExplorer", "lambda_sweep_explorer", "two_sample_explorer",
           "CollapseExplorer", "collapse_explorer", "RefinementPathExplorer", "refinement_path_explorer",
           "ExamplePicker", "LatentSliders", "ModelExplorer", "ModelPicker", "map_labels", "DecodeExplorer", "MapExplorer",
           "interactive_figure", "ipympl_active", "ipympl_available", "CompareExplorer", "NeighbourExplorer",
           "PathExplorer", "SampleExplorer", "TraversalExplorer"]
