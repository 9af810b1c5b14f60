"""Local stand-ins of the Recoupable and GitHub APIs, and the demo that runs the action against them.

Nothing here is part of the product: the image leaves this package out, and no product module imports it.
"""
