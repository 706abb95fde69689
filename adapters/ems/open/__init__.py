"""EMS open-platform REST adapter (api.ems.com.cn generation): the gateway (client), its pure build and
parse (mapping), and the receiver of EMS's 040002 trace pushes (push)."""
