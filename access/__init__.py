"""Who may do what, and the record of what they did: users and tokens, the audit chain."""
