"""Keeping (保管与销毁, 导出): the retention list, holds, destruction plans with their approval and witnessed
execution, tombstones; exports and their grants to inspector accounts."""
