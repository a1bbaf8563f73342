-- govpulse ClickHouse schema, migration 0002: the 32 assessed units (GB/T 2260 codes).
-- regions is a ReplacingMergeTree keyed by region and read through FINAL, so applying this
-- insert twice never shows a unit twice. (INSERT ... SELECT rather than INSERT ... VALUES so that
-- clickhouse-client --multiquery reads the whole statement.)

INSERT INTO ${DATABASE}.regions (region, name_zh, name_en, iso_3166_2)
SELECT tupleElement(r, 1), tupleElement(r, 2), tupleElement(r, 3), tupleElement(r, 4)
FROM system.one
ARRAY JOIN [
    ('110000', '北京市', 'Beijing', 'CN-BJ'),
    ('120000', '天津市', 'Tianjin', 'CN-TJ'),
    ('130000', '河北省', 'Hebei', 'CN-HE'),
    ('140000', '山西省', 'Shanxi', 'CN-SX'),
    ('150000', '内蒙古自治区', 'Inner Mongolia', 'CN-NM'),
    ('210000', '辽宁省', 'Liaoning', 'CN-LN'),
    ('220000', '吉林省', 'Jilin', 'CN-JL'),
    ('230000', '黑龙江省', 'Heilongjiang', 'CN-HL'),
    ('310000', '上海市', 'Shanghai', 'CN-SH'),
    ('320000', '江苏省', 'Jiangsu', 'CN-JS'),
    ('330000', '浙江省', 'Zhejiang', 'CN-ZJ'),
    ('340000', '安徽省', 'Anhui', 'CN-AH'),
    ('350000', '福建省', 'Fujian', 'CN-FJ'),
    ('360000', '江西省', 'Jiangxi', 'CN-JX'),
    ('370000', '山东省', 'Shandong', 'CN-SD'),
    ('410000', '河南省', 'Henan', 'CN-HA'),
    ('420000', '湖北省', 'Hubei', 'CN-HB'),
    ('430000', '湖南省', 'Hunan', 'CN-HN'),
    ('440000', '广东省', 'Guangdong', 'CN-GD'),
    ('450000', '广西壮族自治区', 'Guangxi', 'CN-GX'),
    ('460000', '海南省', 'Hainan', 'CN-HI'),
    ('500000', '重庆市', 'Chongqing', 'CN-CQ'),
    ('510000', '四川省', 'Sichuan', 'CN-SC'),
    ('520000', '贵州省', 'Guizhou', 'CN-GZ'),
    ('530000', '云南省', 'Yunnan', 'CN-YN'),
    ('540000', '西藏自治区', 'Xizang (Tibet)', 'CN-XZ'),
    ('610000', '陕西省', 'Shaanxi', 'CN-SN'),
    ('620000', '甘肃省', 'Gansu', 'CN-GS'),
    ('630000', '青海省', 'Qinghai', 'CN-QH'),
    ('640000', '宁夏回族自治区', 'Ningxia', 'CN-NX'),
    ('650000', '新疆维吾尔自治区', 'Xinjiang', 'CN-XJ'),
    ('660000', '新疆生产建设兵团', 'Xinjiang Production and Construction Corps', '')
] AS r;
