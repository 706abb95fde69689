"""EMS, the one carrier: what its two protocols share, and the protocols under it.

Shared here: scan and reply codes (codes), SM4 sealing and parameter signing (crypto), the EMS fields of a
shipment and a scan (mapping), settings (settings), waybill numbers (s10) and the check that a real carrier
mode has real credentials (credentials). The open platform (REST, open/) and the WebService (SOAP, soap/)
each import only these, never each other."""
