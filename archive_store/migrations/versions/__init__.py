"""Catalog revisions, oldest first; append new ones, never edit one that has shipped."""
