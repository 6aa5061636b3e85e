"""Contracted commercial insurers (受托商业保险机构): the register of their service contracts."""
