"""The error hierarchy is organised by what the caller does next; this pins the tree and exit codes."""

from sync.errors import (
    ConfigurationError,
    CrmsyncError,
    DestinationUnavailable,
    Location,
    LockHeld,
    MappingError,
    PermanentError,
    StateError,
    TransientError,
)


def test_hierarchy_and_exit_codes() -> None:
    for cls in (
        ConfigurationError,
        MappingError,
        TransientError,
        PermanentError,
        DestinationUnavailable,
        StateError,
    ):
        assert issubclass(cls, CrmsyncError)
    assert issubclass(LockHeld, StateError)
    assert ConfigurationError.exit_code == 2
    assert DestinationUnavailable.exit_code == 3
    assert LockHeld.exit_code == 4


def test_messages_carry_location_record_and_fix() -> None:
    err = MappingError(
        "field 'order_amount' is missing",
        hint="add a default",
        record_id="5f3a",
        location=Location("mappings/order.yaml", 12, 7),
    )
    assert str(err) == (
        "record 5f3a: mappings/order.yaml:12:7: field 'order_amount' is missing\n  fix: add a default"
    )


def test_transient_errors_keep_the_retry_after_wish() -> None:
    assert TransientError("throttled", retry_after=2.5).retry_after == 2.5
