"""Reports: the credit file (信用档案) and the statistics (统计) with charts, tables and XLSX downloads."""
