"""The pure model: KPI definitions, the fold, its deltas and merge rules, the read interface."""
