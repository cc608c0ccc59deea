"""SOAP connector plugin (zeep) for legacy department services."""

from civicloom.connectors.soap.connector import SoapBinding, SoapConnector, SoapOptions

__all__ = ["SoapBinding", "SoapConnector", "SoapOptions"]
