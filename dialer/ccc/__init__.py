"""Talking to Alibaba Cloud Contact Center: signing, the client, and a local simulator."""
