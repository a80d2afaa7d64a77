"""The agreements API (docs/api.md): views, serializers and URLs."""
