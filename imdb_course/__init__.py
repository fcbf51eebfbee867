"""A Jupyter-first course kit that teaches recurrent neural networks through IMDB movie-review sentiment

Modules:

- `imdb_course.data`: The IMDB reviews, loaded the way `keras.datasets.imdb` does it — from a local archive, the Keras download or a small real sample shipped with the package."""

__version__ = "0.1.0"
