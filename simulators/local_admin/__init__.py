"""Local Administration simulator: legacy SOAP service plus nightly batch file exchange."""
