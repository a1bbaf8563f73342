package scenario

// Published is a composite a report published for a unit.
type Published struct {
	Region    string  // the unit's code
	Composite float64 // the published composite, to 0.01
}

// Report2019Provinces returns the composites the 2020 report published for the 2019 data of the 31
// provinces, in the report's order (ties in code order). The report gives no figure for the
// Xinjiang Production and Construction Corps (660000).
func Report2019Provinces() []Published {
	return []Published{
		{"330000", 96.73}, // Zhejiang
		{"440000", 96.73}, // Guangdong
		{"310000", 93.93}, // Shanghai
		{"320000", 91.90}, // Jiangsu
		{"520000", 91.90}, // Guizhou
		{"110000", 91.33}, // Beijing
		{"350000", 91.11}, // Fujian
		{"340000", 90.82}, // Anhui
		{"510000", 88.31}, // Sichuan
		{"420000", 87.91}, // Hubei
		{"410000", 87.00}, // Henan
		{"130000", 86.62}, // Hebei
		{"430000", 83.66}, // Hunan
		{"360000", 83.32}, // Jiangxi
		{"500000", 83.14}, // Chongqing
		{"640000", 82.83}, // Ningxia
		{"450000", 82.66}, // Guangxi
		{"530000", 81.57}, // Yunnan
		{"120000", 81.49}, // Tianjin
		{"460000", 81.02}, // Hainan
		{"210000", 80.88}, // Liaoning
		{"140000", 80.34}, // Shanxi
		{"150000", 80.29}, // Inner Mongolia
		{"370000", 79.04}, // Shandong
		{"230000", 77.93}, // Heilongjiang
		{"610000", 77.22}, // Shaanxi
		{"220000", 76.56}, // Jilin
		{"540000", 76.28}, // Tibet
		{"630000", 75.95}, // Qinghai
		{"620000", 75.28}, // Gansu
		{"650000", 74.07}, // Xinjiang
	}
}

// Report2019KeyCities returns the composites the 2020 report published for the 2019 data of the
// 32 key cities, in the report's order (ties in code order).
func Report2019KeyCities() []Published {
	return []Published{
		{"440300", 97.34}, // Shenzhen
		{"320100", 96.46}, // Nanjing
		{"330100", 96.45}, // Hangzhou
		{"440100", 96.45}, // Guangzhou
		{"330200", 95.28}, // Ningbo
		{"340100", 90.50}, // Hefei
		{"370200", 90.13}, // Qingdao
		{"230100", 88.76}, // Harbin
		{"420100", 88.45}, // Wuhan
		{"360100", 87.07}, // Nanchang
		{"350100", 86.73}, // Fuzhou
		{"430100", 85.45}, // Changsha
		{"510100", 84.72}, // Chengdu
		{"520100", 84.49}, // Guiyang
		{"350200", 84.36}, // Xiamen
		{"640100", 83.00}, // Yinchuan
		{"210100", 82.76}, // Shenyang
		{"410100", 82.71}, // Zhengzhou
		{"530100", 80.68}, // Kunming
		{"610100", 80.31}, // Xi'an
		{"450100", 80.25}, // Nanning
		{"370100", 79.44}, // Jinan
		{"150100", 78.64}, // Hohhot
		{"210200", 78.38}, // Dalian
		{"220100", 76.88}, // Changchun
		{"460100", 76.49}, // Haikou
		{"140100", 75.61}, // Taiyuan
		{"540100", 73.10}, // Lhasa
		{"130100", 72.32}, // Shijiazhuang
		{"620100", 72.15}, // Lanzhou
		{"650100", 72.07}, // Urumqi
		{"630100", 65.76}, // Xining
	}
}
