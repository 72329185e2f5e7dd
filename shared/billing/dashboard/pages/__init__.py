"""One module per page: each takes the request and answers HTML (or a redirect)."""
