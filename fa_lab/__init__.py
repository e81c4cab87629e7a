"""fa_lab: back-propagation, feedback alignment, direct feedback alignment and the
general feedback update rule (eq. 4) of the paper, as one small engine.

Layout (imports flow downwards): data → nets → rules → feedback → engine → model → train
→ experiments/results → plots/widgets.
"""

from .core.data import MNIST, load_mnist
from .core.errors import FaLabError, TrainingDiverged
from .core.feedback import FAMILIES, Feedback
from .core.model import Model, build
from .core.nets import ACTIVATIONS, Net
from .core.rules import PRESETS, Rule, Term, get_rule
from .core.train import BATCH_SIZE, EPOCHS, LR, History, fit, train

__version__ = "0.1.0"
__all__ = ["MNIST", "load_mnist", "FaLabError", "TrainingDiverged", "FAMILIES", "Feedback", "Model", "build",
           "ACTIVATIONS", "Net", "PRESETS", "Rule", "Term", "get_rule", "BATCH_SIZE", "EPOCHS", "LR", "History",
           "fit", "train"]
