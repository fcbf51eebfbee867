"""A Jupyter-first course kit that teaches recurrent neural networks through IMDB movie-review sentiment

Modules:

- `imdb_course.data`: The IMDB reviews, loaded the way `keras.datasets.imdb` does it — from a local archive, the Keras download or a small real sample shipped with the package.
- `imdb_course.models`: One builder for every recurrent network of the course, a registry of the six classic architectures, a per-layer parameter table and the checks that catch the classic vocabulary mistake.
- `imdb_course.train`: Train a model and keep a small, saveable record of the run; evaluate it; compare architectures and sweep a parameter in one call."""

__version__ = "0.1.0"
