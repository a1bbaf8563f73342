package scenario

// Unit is the scenario's profile of one assessed unit: the platform it ends
// with and the composite the generated events are counted out to reach.
type Unit struct {
	// Region is the unit's code ("330000").
	Region string
	// Target is the composite (0..100) the unit's events aim at: under method
	// 2017 in [Units], where the realised composite differs from it by a
	// small rounding error; the report's figure under [Method2019], reached
	// exactly, in the 2019 scenario.
	Target float64
	// PlatformLevels is how many levels, from the province down, the unit's
	// final platform reaches (0..4).
	PlatformLevels int
	// Integrated reports whether the unit's final platform is integrated
	// (provincially coordinated, one standard, linked across levels).
	Integrated bool
}

// Units returns the 32 unit profiles in the order of the scenario's final
// ranking (highest target first).
//
// The report publishes the top ten and the platform counts; the order of the
// other 22 units and which units reach which platform depth are the
// scenario's choice:
//
//   - four levels (3): Zhejiang, Guizhou, Jiangsu;
//   - three levels (8): Shanghai, Fujian, Jiangxi, Shandong, Gansu,
//     Guangdong, Chongqing, Sichuan;
//   - two levels (3): Beijing, Anhui, Hubei;
//   - provincial departments only (15): Hunan, Henan, Hebei, Guangxi,
//     Tianjin, Shaanxi, Yunnan, Hainan, Liaoning, Ningxia, Shanxi, Jilin,
//     Inner Mongolia, Heilongjiang, Qinghai;
//   - none (3): Xinjiang, the Xinjiang Production and Construction Corps,
//     Xizang.
//
// 27 units are integrated: all but the three without a platform and
// Heilongjiang and Qinghai, whose provincial platforms still link separate
// departmental portals.
//
// Targets fall by 2.5 points through the top ten and by 1.2 points below it,
// so consecutive composites stay far apart.
func Units() []Unit {
	return []Unit{
		{"330000", 91.0, 4, true},  // Zhejiang
		{"520000", 88.5, 4, true},  // Guizhou
		{"320000", 86.0, 4, true},  // Jiangsu
		{"310000", 83.5, 3, true},  // Shanghai
		{"350000", 81.0, 3, true},  // Fujian
		{"360000", 78.5, 3, true},  // Jiangxi
		{"370000", 76.0, 3, true},  // Shandong
		{"620000", 73.5, 3, true},  // Gansu
		{"440000", 71.0, 3, true},  // Guangdong
		{"500000", 68.5, 3, true},  // Chongqing
		{"510000", 66.0, 3, true},  // Sichuan
		{"110000", 64.8, 2, true},  // Beijing
		{"340000", 63.6, 2, true},  // Anhui
		{"420000", 62.4, 2, true},  // Hubei
		{"430000", 61.2, 1, true},  // Hunan
		{"410000", 60.0, 1, true},  // Henan
		{"130000", 58.8, 1, true},  // Hebei
		{"450000", 57.6, 1, true},  // Guangxi
		{"120000", 56.4, 1, true},  // Tianjin
		{"610000", 55.2, 1, true},  // Shaanxi
		{"530000", 54.0, 1, true},  // Yunnan
		{"460000", 52.8, 1, true},  // Hainan
		{"210000", 51.6, 1, true},  // Liaoning
		{"640000", 50.4, 1, true},  // Ningxia
		{"140000", 49.2, 1, true},  // Shanxi
		{"220000", 48.0, 1, true},  // Jilin
		{"150000", 46.8, 1, true},  // Inner Mongolia
		{"230000", 45.6, 1, false}, // Heilongjiang
		{"630000", 44.4, 1, false}, // Qinghai
		{"650000", 43.2, 0, false}, // Xinjiang
		{"660000", 42.0, 0, false}, // Xinjiang Production and Construction Corps
		{"540000", 40.8, 0, false}, // Xizang
	}
}
