"""IVR hotline service: Twilio webhooks, routing, admin and CLI."""
