"""Use-cases: each module holds the operations of one area, no Flask."""
