"""What people changed: configuration revisions and drafts, the audit log."""
