"""The SQL tracking repository is the protocol the use cases see, assembled from parts that never
shadow one another."""

import inspect

from logistics.ports.repositories.tracking import CitizenLookup, TrackingRecords
from logistics.storage.tracking import SqlCitizenLookup, SqlTrackingRecords


def _methods(cls) -> dict:
    return {name: member for name, member in inspect.getmembers(cls) if not name.startswith("_")}


def test_every_protocol_method_is_implemented_with_the_same_parameters():
    pairs = ((TrackingRecords, SqlTrackingRecords), (CitizenLookup, SqlCitizenLookup))
    for protocol, implementation in pairs:
        ours = _methods(implementation)
        for name, method in _methods(protocol).items():
            assert name in ours, f"{implementation.__name__} lacks {name}"
            parameters = inspect.signature(ours[name]).parameters
            assert list(parameters) == list(inspect.signature(method).parameters), name


def test_no_part_of_the_repository_defines_a_name_another_part_defines():
    owners: dict[str, str] = {}
    for part in SqlTrackingRecords.__mro__[1:]:
        if part.__module__.startswith("logistics.storage.tracking."):
            for name in vars(part):
                if not name.startswith("__"):
                    assert name not in owners, f"{name} in both {owners[name]} and {part.__name__}"
                    owners[name] = part.__name__
