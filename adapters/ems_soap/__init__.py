"""EMS WebService (SOAP) adapter: zeep on the WSDL kept in wsdl/."""

from .client import EmsSoapGateway, soap_client
from .settings import EmsSoapSettings

__all__ = ["EmsSoapGateway", "EmsSoapSettings", "soap_client"]
