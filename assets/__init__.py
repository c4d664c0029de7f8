"""Bundled sample data and icons, installed as ``gmm_studio.assets``."""
