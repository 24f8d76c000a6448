"""The screens' logic as plain-Python Kivy ``EventDispatcher`` classes, tested without a window.

A view model holds what its screen shows as properties (texts already in the patron's language)
and offers what a tap does as methods; the ``.kv`` screens only bind to it.
"""
