"""Dash pages, one per drill level; Dash imports them itself when the app is created."""
