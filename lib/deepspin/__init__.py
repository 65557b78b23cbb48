"""deepspin: the library behind the book on the statistical mechanics of deep-network landscapes.

Modules (one job each): ``gauss`` (Gaussian measure toolkit), ``results`` (solver
results, run directories, the reproduction record), ``checks`` (parameter
validation, random generators), ``data`` (MNIST and its PCA), ``perceptron``
(Gardner volume), ``runner`` (``deepspin run``), ``plotting`` (the figure style).
"""

from deepspin.results import SolverResult, record

__all__ = ["SolverResult", "__version__", "record"]
__version__ = "0.1.0"
