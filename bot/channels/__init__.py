"""Channel adapters: each turns a platform's updates into Events and sends Replies."""
