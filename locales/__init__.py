"""The gettext catalogs, ``<locale>/LC_MESSAGES/messages.po``: a package so that a wheel carries
them (read through :mod:`importlib.resources` by ``bot/i18n.py``)."""
