"""Pure logic of the admin's read-mostly pages: no Flask, no request, `now` passed in."""
