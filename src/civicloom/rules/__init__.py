"""Decision models owned by departments (GoRules JDM, evaluated by zen-engine)."""
