"""One module per RPC: request validation and orchestration for that call only."""
