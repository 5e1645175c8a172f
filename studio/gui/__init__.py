"""The PySide6 window. Everything under here may import Qt; nothing outside may."""
