"""Build-time model builders: turn pinned, published weights into TorchScript for Triton.

Nothing here runs on the request path; the gateway never imports this package. Each
builder module exposes ``build(repository: Path) -> list[Path]`` and is registered in
``nostalgia_models.registry``; ``python -m nostalgia_models`` (``make models``) runs them.
"""

__all__: list[str] = []
