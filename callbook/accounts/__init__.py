"""Who may use the service: admin accounts and their API tokens."""
