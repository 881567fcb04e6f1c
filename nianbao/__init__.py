"""nianbao (年报): search and archive of Chinese government information-disclosure annual reports."""

__version__ = "0.1.0"
