"""The sample sheets, shipped inside the package so `dialer demo` finds them wherever the
dialer is installed (read them through importlib.resources, never by a path into the
checkout)."""
