"""Answer generators behind one protocol (``base.Generator``), one module per backend."""
