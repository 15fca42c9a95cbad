"""The review loop: pick conversations of an archive, review them in a local page, export the labels."""
