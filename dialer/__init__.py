"""b2b-dialer: a batch back-to-back (双呼) dialer for Alibaba Cloud Contact Center."""

__version__ = "0.1.0"
