"""File formats read and written without the database: the self-check workbook of the
Excel round trip and the departments CSV. Below services; imports only model, scoring,
exports and refusals."""
