-- A catalog as yuetan wrote it at PRAGMA user_version = 4 (the last hand-written schema step: approvals,
-- kept exports, archival codes): made by the code of main at b2de51c (tests.stored_cases, api.accounts,
-- records.approvals, archive_store.arrangement). tests/test_migrations.py loads it and upgrades it.
BEGIN TRANSACTION;
CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    subject       TEXT NOT NULL CHECK (subject IN ('destruction_plan', 'export')),
    subject_id    TEXT NOT NULL,
    step          TEXT NOT NULL CHECK (step IN ('review', 'witness')),
    requester     TEXT NOT NULL,
    reviewer      TEXT NOT NULL,
    reviewer_role TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('approved', 'rejected', 'witnessed')),
    reason        TEXT NOT NULL,
    at            TEXT NOT NULL,
    ledger_seq    INTEGER NOT NULL
);
INSERT INTO "approvals" VALUES(1,'destruction_plan','XH-2026-0001','review','起草人','审批人','approver','approved','同意','2026-11-30T23:57:38+00:00',8);
INSERT INTO "approvals" VALUES(2,'destruction_plan','XH-2026-0001','witness','起草人','监销一','archivist','witnessed','到场监销','2026-11-30T23:57:38+00:00',9);
INSERT INTO "approvals" VALUES(3,'destruction_plan','XH-2026-0001','witness','起草人','监销二','archivist','witnessed','到场监销','2026-11-30T23:57:38+00:00',10);
INSERT INTO "approvals" VALUES(4,'export','EXP-20261130235738849080','review','档案员','审批人','approver','approved','同意','2026-11-30T23:57:38+00:00',13);
CREATE TABLE archival_codes (
        series      TEXT    NOT NULL,
        seq         INTEGER NOT NULL CHECK (seq >= 1),
        code        TEXT    NOT NULL UNIQUE,
        case_id     TEXT    NOT NULL UNIQUE,
        year        INTEGER NOT NULL,
        recorded_at TEXT    NOT NULL,
        PRIMARY KEY (series, seq)
    );
INSERT INTO "archival_codes" VALUES('J036-WS·2018-D6-JCK-#',1,'J036-WS·2018-D6-JCK-0001','JX-OLD-2018-001',2018,'2026-11-30T23:57:35+00:00');
INSERT INTO "archival_codes" VALUES('J036-WS·2025-D6-JCK-#',1,'J036-WS·2025-D6-JCK-0001','JX-OLD-2025-002',2025,'2026-11-30T23:57:35+00:00');
CREATE TABLE cases (
    case_id              TEXT    NOT NULL,
    version              INTEGER NOT NULL CHECK (version >= 1),
    content_sha256       TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('current', 'superseded', 'purged')),
    supersedes           INTEGER,
    notice_number        TEXT    NOT NULL,
    title                TEXT    NOT NULL,
    target_name          TEXT    NOT NULL,
    target_kind          TEXT    NOT NULL,
    credit_code          TEXT,
    organizer            TEXT    NOT NULL,
    organizer_level      TEXT    NOT NULL,
    region_code          TEXT    NOT NULL,
    grounds              TEXT    NOT NULL,
    outcome              TEXT    NOT NULL,
    interview_on         TEXT    NOT NULL,
    closed_on            TEXT    NOT NULL,
    archived_at          TEXT    NOT NULL,
    dossier_sha256       TEXT    NOT NULL,
    manifest_sha256      TEXT    NOT NULL,
    page_count           INTEGER NOT NULL,
    text_sha256          TEXT,
    case_json_sha256     TEXT    NOT NULL,
    manifest_json_sha256 TEXT    NOT NULL,
    indexed_at           TEXT, archival_code TEXT,
    PRIMARY KEY (case_id, version)
);
INSERT INTO "cases" VALUES('JX-OLD-2018-001',1,'af93d97340121d21d561656e896db46175f9b4881601cca9cb35c6f7396367fd','current',NULL,'赣市监检约〔2018〕1号','江西JX-OLD-2018-001检测有限公司约谈案卷（赣市监检约〔2018〕1号）','江西JX-OLD-2018-001检测有限公司','institution','91360100MA3500001B','江西省市场监督管理局','province','360000','["6.2"]','completed','2017-12-31','2018-03-01','2026-11-30T23:57:35+00:00','31e4b6d185074e29d9b73c1f280a6e97736ecd724fe2885f612010ffba7aa5f1','957ad2d0389d48143ad48640d4b4778d0c9d0c9b23afb0317ab0b53d94cde7f5',1,'bbcb1776cc76a38325e6ba1987c3ccee970320d8bd49cc92b2f30563aa04a6fa','7f8aeb4c4f65747be3eecfbf0554150dc79f50610e131aa37cbf816f4892bdf0','957ad2d0389d48143ad48640d4b4778d0c9d0c9b23afb0317ab0b53d94cde7f5','2026-11-30T23:57:36+00:00','J036-WS·2018-D6-JCK-0001');
INSERT INTO "cases" VALUES('JX-OLD-2025-002',1,'f0985cc66a7ad84af33db2b45f59b63cc96d8cc0960f7364aa8f9d5e84e2c958','superseded',NULL,'赣市监检约〔2025〕2号','江西JX-OLD-2025-002检测有限公司约谈案卷（赣市监检约〔2025〕2号）','江西JX-OLD-2025-002检测有限公司','institution','91360100MA3500002E','江西省市场监督管理局','province','360000','["6.2"]','completed','2025-04-02','2025-06-01','2026-11-30T23:57:36+00:00','a84d54fec173607a3fb864bd9f45090723ecf70301433bdbf637bcbc38c46897','d31bf24c81a4ca11bfb8e899a8861eec58f62f040b7ba3998659b7b687eb943b',1,'bbcb1776cc76a38325e6ba1987c3ccee970320d8bd49cc92b2f30563aa04a6fa','b0b9140a26ae0054ab7b1cfa09df9073bc2173461a820921290b6d5255856fc3','d31bf24c81a4ca11bfb8e899a8861eec58f62f040b7ba3998659b7b687eb943b','2026-11-30T23:57:36+00:00','J036-WS·2025-D6-JCK-0001');
INSERT INTO "cases" VALUES('JX-OLD-2025-002',2,'e047c9ba9d492fc91c707864ba41eada24340d375469428676a888b293947b5b','current',1,'赣市监检约〔2025〕2号','江西JX-OLD-2025-002检测有限公司约谈案卷（赣市监检约〔2025〕2号）','江西JX-OLD-2025-002检测有限公司','institution','91360100MA3500002E','江西省市场监督管理局','province','360000','["6.2"]','completed','2025-04-02','2025-06-01','2026-11-30T23:57:36+00:00','5ebfd4e40fb8ed7bc315843c71f86ad49297f9583f9621bc9af31c39ce8a3883','cea3d26e9c3e2499da97f7fbf810908b1784cbc322152981f0b339a62a6ac74a',1,'bbcb1776cc76a38325e6ba1987c3ccee970320d8bd49cc92b2f30563aa04a6fa','1c213865112a66638731dcb8f4e99ac1c10ede9e8c351089690a5158e5fb9f69','cea3d26e9c3e2499da97f7fbf810908b1784cbc322152981f0b339a62a6ac74a','2026-11-30T23:57:36+00:00','J036-WS·2025-D6-JCK-0001');
CREATE TABLE destruction_plans (
    plan_id     TEXT PRIMARY KEY,
    plan_sha256 TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    plan_json   TEXT NOT NULL,
    executed_at TEXT,
    approved_by TEXT
);
INSERT INTO "destruction_plans" VALUES('XH-2026-0001','67dca38ccacb5909239060b3cc8232dcec2404aa061f56394c0c7a76a346b85b','2030-01-01','2026-11-30T23:57:36+00:00','起草人','{"as_of":"2030-01-01","cases":[{"case_id":"JX-OLD-2018-001","closed_on":"2018-03-01","credit_code":"91360100MA3500001B","dossier_sha256":"31e4b6d185074e29d9b73c1f280a6e97736ecd724fe2885f612010ffba7aa5f1","expires_on":"2024-12-31","interview_on":"2017-12-31","manifest_sha256":"957ad2d0389d48143ad48640d4b4778d0c9d0c9b23afb0317ab0b53d94cde7f5","notice_number":"赣市监检约〔2018〕1号","organizer":"江西省市场监督管理局","page_count":1,"purgeable_from":"2025-01-01","retention":"6年","seq":1,"target_name":"江西JX-OLD-2018-001检测有限公司","title":"江西JX-OLD-2018-001检测有限公司约谈案卷（赣市监检约〔2018〕1号）","version":1}],"created_at":"2026-11-30T23:57:36+00:00","created_by":"起草人","format":"yuetan-destruction-plan/1","ledger_head":{"entry_hash":"64938a60bb89a2e129037f29d3df9486ec9e8dafe9a148c60ceadfa719e83355","seq":6},"plan_id":"XH-2026-0001","plan_sha256":"67dca38ccacb5909239060b3cc8232dcec2404aa061f56394c0c7a76a346b85b","retention_years":6,"rule":"保管期限为6年（《江西省检验检测领域监督检查工作约谈实施办法（试行）》第二十条），自结案之次年1月1日起计算，期满之年12月31日届满，次日起可以销毁；如2019年5月10日结案的案件保管至2025年12月31日，2026年1月1日起可以销毁。冻结（法律保全）中的案件不予销毁。","totals":{"cases":1,"pages":1}}',NULL,NULL);
CREATE TABLE documents (
    case_id    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    document   TEXT    NOT NULL DEFAULT '',
    title      TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    PRIMARY KEY (case_id, version, seq),
    FOREIGN KEY (case_id, version) REFERENCES cases (case_id, version)
);
INSERT INTO "documents" VALUES('JX-OLD-2018-001',1,1,'case_json','case','案件数据','case.json','application/json',4465,'7f8aeb4c4f65747be3eecfbf0554150dc79f50610e131aa37cbf816f4892bdf0');
INSERT INTO "documents" VALUES('JX-OLD-2018-001',1,2,'upload_original','attachments[0]','整改方案','整改方案.pdf','application/pdf',71926,'77b7a9e2265b9e1edb93c055f161110d219bdbfa1fd88bcf9879a0f2d361e7a1');
INSERT INTO "documents" VALUES('JX-OLD-2025-002',1,1,'case_json','case','案件数据','case.json','application/json',4465,'b0b9140a26ae0054ab7b1cfa09df9073bc2173461a820921290b6d5255856fc3');
INSERT INTO "documents" VALUES('JX-OLD-2025-002',1,2,'upload_original','attachments[0]','整改方案','整改方案.pdf','application/pdf',71926,'77b7a9e2265b9e1edb93c055f161110d219bdbfa1fd88bcf9879a0f2d361e7a1');
INSERT INTO "documents" VALUES('JX-OLD-2025-002',2,1,'case_json','case','案件数据','case.json','application/json',4514,'1c213865112a66638731dcb8f4e99ac1c10ede9e8c351089690a5158e5fb9f69');
INSERT INTO "documents" VALUES('JX-OLD-2025-002',2,2,'upload_original','attachments[0]','整改方案','整改方案.pdf','application/pdf',71926,'77b7a9e2265b9e1edb93c055f161110d219bdbfa1fd88bcf9879a0f2d361e7a1');
CREATE TABLE findings (
    case_id  TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    code     TEXT    NOT NULL,
    article  TEXT    NOT NULL,
    severity TEXT    NOT NULL,
    message  TEXT    NOT NULL,
    evidence TEXT    NOT NULL,
    PRIMARY KEY (case_id, version, seq),
    FOREIGN KEY (case_id, version) REFERENCES cases (case_id, version)
);
INSERT INTO "findings" VALUES('JX-OLD-2018-001',1,1,'notice_served_late','第十三条','violation','约谈通知书送达不足3个工作日','{"served_on":"2025-09-29"}');
INSERT INTO "findings" VALUES('JX-OLD-2025-002',1,1,'notice_served_late','第十三条','violation','约谈通知书送达不足3个工作日','{"served_on":"2025-09-29"}');
INSERT INTO "findings" VALUES('JX-OLD-2025-002',2,1,'notice_served_late','第十三条','violation','约谈通知书送达不足3个工作日','{"served_on":"2025-09-29"}');
CREATE TABLE holds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    held_by        TEXT NOT NULL,
    held_at        TEXT NOT NULL,
    released_by    TEXT,
    released_at    TEXT,
    release_reason TEXT
);
INSERT INTO "holds" VALUES(1,'JX-OLD-2025-002','诉讼','档案员','2026-11-30T23:57:36+00:00',NULL,NULL,NULL);
CREATE TABLE kept_exports (
    export_id   TEXT PRIMARY KEY,
    file        TEXT NOT NULL,
    zip_sha256  TEXT NOT NULL,
    cases       INTEGER NOT NULL,
    filters     TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    until       TEXT NOT NULL,
    ledger_seq  INTEGER NOT NULL
);
INSERT INTO "kept_exports" VALUES('EXP-20261130235738849080','exports/EXP-20261130235738849080.zip','f1a40f86d63547f7e3e72e92857fac8dd13907336b3730cab93ea39478899726',2,'{}','档案员','2026-11-30T23:57:38+00:00','inspector1','2099-01-01',11);
CREATE TABLE ledger (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    case_id    TEXT,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    entry_hash TEXT NOT NULL
, role TEXT);
INSERT INTO "ledger" VALUES(1,'2026-11-30T23:57:35+00:00','档案员','ingest','JX-OLD-2018-001','{"archival_code":"J036-WS·2018-D6-JCK-0001","content_sha256":"af93d97340121d21d561656e896db46175f9b4881601cca9cb35c6f7396367fd","dossier_sha256":"31e4b6d185074e29d9b73c1f280a6e97736ecd724fe2885f612010ffba7aa5f1","manifest_sha256":"957ad2d0389d48143ad48640d4b4778d0c9d0c9b23afb0317ab0b53d94cde7f5","notice_number":"赣市监检约〔2018〕1号","supersedes":null,"version":1}','0000000000000000000000000000000000000000000000000000000000000000','dde1e0eea7e4e2e9c4f93ec398d2f1386ac79224a8b234d4f7711152dfa2295c','archivist');
INSERT INTO "ledger" VALUES(2,'2026-11-30T23:57:36+00:00','档案员','ingest','JX-OLD-2025-002','{"archival_code":"J036-WS·2025-D6-JCK-0001","content_sha256":"f0985cc66a7ad84af33db2b45f59b63cc96d8cc0960f7364aa8f9d5e84e2c958","dossier_sha256":"a84d54fec173607a3fb864bd9f45090723ecf70301433bdbf637bcbc38c46897","manifest_sha256":"d31bf24c81a4ca11bfb8e899a8861eec58f62f040b7ba3998659b7b687eb943b","notice_number":"赣市监检约〔2025〕2号","supersedes":null,"version":1}','dde1e0eea7e4e2e9c4f93ec398d2f1386ac79224a8b234d4f7711152dfa2295c','5f6ce45a80a1b984f820c8a89c848dea67cb6336263914ae701bcb0987a3bd29','archivist');
INSERT INTO "ledger" VALUES(3,'2026-11-30T23:57:36+00:00','档案员','supersede','JX-OLD-2025-002','{"archival_code":"J036-WS·2025-D6-JCK-0001","content_sha256":"e047c9ba9d492fc91c707864ba41eada24340d375469428676a888b293947b5b","dossier_sha256":"5ebfd4e40fb8ed7bc315843c71f86ad49297f9583f9621bc9af31c39ce8a3883","manifest_sha256":"cea3d26e9c3e2499da97f7fbf810908b1784cbc322152981f0b339a62a6ac74a","notice_number":"赣市监检约〔2025〕2号","supersedes":1,"version":2}','5f6ce45a80a1b984f820c8a89c848dea67cb6336263914ae701bcb0987a3bd29','4ad81bdf20da4534cfe125847ebd4f4c0bcd1fb605f2a8d0512e9bac0c89e4ba','archivist');
INSERT INTO "ledger" VALUES(4,'2026-11-30T23:57:36+00:00','root','account',NULL,'{"account":"reader1","change":"created","full_name":"读者"}','4ad81bdf20da4534cfe125847ebd4f4c0bcd1fb605f2a8d0512e9bac0c89e4ba','ee22e7734f7b0e14fe1f7e9e486e20c6da5e4fad8d76575f612f6f8d23e7d706','console');
INSERT INTO "ledger" VALUES(5,'2026-11-30T23:57:36+00:00','root','role',NULL,'{"account":"reader1","added":["reader"],"removed":[],"roles":["reader"]}','ee22e7734f7b0e14fe1f7e9e486e20c6da5e4fad8d76575f612f6f8d23e7d706','95edb786352d881c918e73bf08500f5a1b9421f662edaddc2e8be37fbf39e7d4','console');
INSERT INTO "ledger" VALUES(6,'2026-11-30T23:57:36+00:00','档案员','hold','JX-OLD-2025-002','{"manifest_sha256":"cea3d26e9c3e2499da97f7fbf810908b1784cbc322152981f0b339a62a6ac74a","notice_number":"赣市监检约〔2025〕2号","reason":"诉讼"}','95edb786352d881c918e73bf08500f5a1b9421f662edaddc2e8be37fbf39e7d4','64938a60bb89a2e129037f29d3df9486ec9e8dafe9a148c60ceadfa719e83355','archivist');
INSERT INTO "ledger" VALUES(7,'2026-11-30T23:57:38+00:00','起草人','purge_plan',NULL,'{"as_of":"2030-01-01","case_ids":["JX-OLD-2018-001"],"files":{"plan.json":"e83592beedc8d9230e7e4119b131219ea3e66b8a4d4e37fa7f066a89f757a28d","销毁清册.pdf":"14e99376f672b582136dcb381ee63d0e50d003c2149925429fff4bd4e5af357c","销毁清册.xlsx":"a70dfa4975d0fade3a88e0b7c3a954d8444ad3f34d01a712aa3744ec3be082a9"},"plan_id":"XH-2026-0001","plan_sha256":"67dca38ccacb5909239060b3cc8232dcec2404aa061f56394c0c7a76a346b85b"}','64938a60bb89a2e129037f29d3df9486ec9e8dafe9a148c60ceadfa719e83355','d791ceb7fabcdf31e48d54d87e59b201ab0e1b374187cb4e0748db7d01723150','archivist');
INSERT INTO "ledger" VALUES(8,'2026-11-30T23:57:38+00:00','审批人','plan_review',NULL,'{"destruction_plan_id":"XH-2026-0001","plan_sha256":"67dca38ccacb5909239060b3cc8232dcec2404aa061f56394c0c7a76a346b85b","reason":"同意","status":"approved"}','d791ceb7fabcdf31e48d54d87e59b201ab0e1b374187cb4e0748db7d01723150','0d797f4816f9a67ff2b9582c475a4d2f51f7be225cfdf3d0a30bc622cbcd9f4c','approver');
INSERT INTO "ledger" VALUES(9,'2026-11-30T23:57:38+00:00','监销一','plan_witness',NULL,'{"destruction_plan_id":"XH-2026-0001","reason":"到场监销","status":"witnessed","witness":1}','0d797f4816f9a67ff2b9582c475a4d2f51f7be225cfdf3d0a30bc622cbcd9f4c','5a0125f620fde9a05eac1a6299496ef6cdda591b5435055dc434e285e1d41d3e','archivist');
INSERT INTO "ledger" VALUES(10,'2026-11-30T23:57:38+00:00','监销二','plan_witness',NULL,'{"destruction_plan_id":"XH-2026-0001","reason":"到场监销","status":"witnessed","witness":2}','5a0125f620fde9a05eac1a6299496ef6cdda591b5435055dc434e285e1d41d3e','ca9f808237fdff7afdcb54c1ba61dfee88c1fa12a7383cb38d7c273d9b7047c7','archivist');
INSERT INTO "ledger" VALUES(11,'2026-11-30T23:57:38+00:00','档案员','export',NULL,'{"case_ids":["JX-OLD-2018-001","JX-OLD-2025-002"],"file":"EXP-20261130235738849080.zip","filters":{},"manifest_sha256":{"JX-OLD-2018-001":"957ad2d0389d48143ad48640d4b4778d0c9d0c9b23afb0317ab0b53d94cde7f5","JX-OLD-2025-002":"cea3d26e9c3e2499da97f7fbf810908b1784cbc322152981f0b339a62a6ac74a"},"tagmanifest_sha256":"b91fca6770e294c27ec201ab4d2ce4515c10f5edad11dd237a91a6e57ca28267","zip_sha256":"f1a40f86d63547f7e3e72e92857fac8dd13907336b3730cab93ea39478899726"}','ca9f808237fdff7afdcb54c1ba61dfee88c1fa12a7383cb38d7c273d9b7047c7','b7cbf56b4ec48745f580e8c90f40edfe82c7660cf710f49d7b54b7ea1261666d','archivist');
INSERT INTO "ledger" VALUES(12,'2026-11-30T23:57:38+00:00','档案员','export_grant',NULL,'{"export_id":"EXP-20261130235738849080","grantee":"inspector1","status":"requested","until":"2099-01-01","zip_sha256":"f1a40f86d63547f7e3e72e92857fac8dd13907336b3730cab93ea39478899726"}','b7cbf56b4ec48745f580e8c90f40edfe82c7660cf710f49d7b54b7ea1261666d','1fe89a73d3e4c07f583d4a697af0207663d427c1d25398bf31bf3f1cbc49c98d','archivist');
INSERT INTO "ledger" VALUES(13,'2026-11-30T23:57:38+00:00','审批人','export_review',NULL,'{"export_id":"EXP-20261130235738849080","grantee":"inspector1","reason":"同意","status":"approved","until":"2099-01-01"}','1fe89a73d3e4c07f583d4a697af0207663d427c1d25398bf31bf3f1cbc49c98d','c0604cc1576d62ea41ab00b06a4ad822f9e53d03f5dd52d3d9588b311ee05035','approver');
CREATE TABLE notice_numbers (
    prefix      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    case_id     TEXT,
    origin      TEXT    NOT NULL CHECK (origin IN ('allocated', 'registered')),
    recorded_at TEXT    NOT NULL,
    PRIMARY KEY (prefix, year, seq)
);
INSERT INTO "notice_numbers" VALUES('赣市监检约',2018,1,'JX-OLD-2018-001','registered','2026-11-30T23:57:36+00:00');
INSERT INTO "notice_numbers" VALUES('赣市监检约',2025,2,'JX-OLD-2025-002','registered','2026-11-30T23:57:36+00:00');
INSERT INTO "notice_numbers" VALUES('赣市监检约',2025,3,'JX-OLD-2025-003','allocated','2026-11-30T23:57:36+00:00');
CREATE TABLE tombstones (
    case_id         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    notice_number   TEXT    NOT NULL,
    target_name     TEXT    NOT NULL,
    credit_code     TEXT,
    organizer       TEXT    NOT NULL,
    interview_on    TEXT    NOT NULL,
    closed_on       TEXT    NOT NULL,
    archived_at     TEXT    NOT NULL,
    manifest_sha256 TEXT    NOT NULL,
    dossier_sha256  TEXT    NOT NULL,
    page_count      INTEGER NOT NULL,
    plan_id         TEXT    NOT NULL,
    plan_sha256     TEXT    NOT NULL,
    approved_by     TEXT    NOT NULL,
    purged_at       TEXT    NOT NULL,
    PRIMARY KEY (case_id, version)
);
CREATE UNIQUE INDEX notice_numbers_case
    ON notice_numbers (prefix, year, case_id) WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX cases_one_current ON cases (case_id) WHERE status = 'current';
CREATE INDEX cases_notice_number ON cases (notice_number);
CREATE INDEX cases_credit_code ON cases (credit_code);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX findings_code ON findings (code);
CREATE INDEX holds_case ON holds (case_id);
CREATE INDEX tombstones_notice_number ON tombstones (notice_number);
CREATE INDEX ledger_case ON ledger (case_id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, '账本只能追加，不能修改已有账目'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, '账本只能追加，不能删除已有账目'); END;
CREATE INDEX approvals_subject ON approvals (subject, subject_id);
CREATE INDEX cases_archival_code ON cases (archival_code);
CREATE INDEX archival_codes_year ON archival_codes (year);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('holds',1);
INSERT INTO "sqlite_sequence" VALUES('approvals',4);
COMMIT;
