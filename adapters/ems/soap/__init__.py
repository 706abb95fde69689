"""EMS WebService (SOAP) adapter: zeep (client) on the WSDL kept in wsdl/, pure build and parse (mapping).

The simulator serves the same WSDL: this module imports nothing, so WSDL_PATH comes without zeep."""

from pathlib import Path

WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "ems_ws.wsdl"
NAMESPACE = "urn:certpost:ems-ws:v1"
"""The WSDL's target namespace."""
