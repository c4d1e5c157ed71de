"""The call flow: one small module per step; no SQL, no Flask globals."""
