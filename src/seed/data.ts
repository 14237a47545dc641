/** Word pools for the demo data: Czech names, companies, places and goods. */

export const MALE_FIRST = [
  'Jan', 'Petr', 'Josef', 'Pavel', 'Martin', 'Tomáš', 'Jaroslav', 'Jiří', 'Miroslav', 'Zdeněk', 'Václav', 'Michal',
  'František', 'Jakub', 'Milan', 'Karel', 'Lukáš', 'David', 'Ondřej', 'Vojtěch', 'Filip', 'Radek', 'Aleš', 'Marek',
  'Stanislav', 'Daniel', 'Roman', 'Vladimír', 'Ladislav', 'Matěj', 'Adam', 'Šimon', 'Dominik', 'Libor', 'Luboš',
  'Bohumil', 'Přemysl', 'Jindřich', 'Radim', 'Vít',
] as const;

export const FEMALE_FIRST = [
  'Jana', 'Marie', 'Eva', 'Hana', 'Anna', 'Lenka', 'Kateřina', 'Lucie', 'Věra', 'Alena', 'Petra', 'Veronika',
  'Jaroslava', 'Tereza', 'Martina', 'Michaela', 'Jitka', 'Helena', 'Ludmila', 'Zdeňka', 'Ivana', 'Monika', 'Eliška',
  'Zuzana', 'Markéta', 'Barbora', 'Kristýna', 'Klára', 'Adéla', 'Šárka', 'Dagmar', 'Blanka', 'Irena', 'Renata',
  'Simona', 'Pavla', 'Radka', 'Andrea', 'Gabriela', 'Natálie',
] as const;

/** Surnames as [male, female]: the female form is not a rule of thumb (Němec → Němcová, Vaněk → Vaňková). */
export const SURNAMES: readonly (readonly [string, string])[] = [
  ['Novák', 'Nováková'], ['Svoboda', 'Svobodová'], ['Novotný', 'Novotná'], ['Dvořák', 'Dvořáková'], ['Černý', 'Černá'],
  ['Procházka', 'Procházková'], ['Kučera', 'Kučerová'], ['Veselý', 'Veselá'], ['Horák', 'Horáková'], ['Němec', 'Němcová'],
  ['Marek', 'Marková'], ['Pospíšil', 'Pospíšilová'], ['Pokorný', 'Pokorná'], ['Hájek', 'Hájková'], ['Král', 'Králová'],
  ['Jelínek', 'Jelínková'], ['Růžička', 'Růžičková'], ['Beneš', 'Benešová'], ['Fiala', 'Fialová'], ['Sedláček', 'Sedláčková'],
  ['Doležal', 'Doležalová'], ['Zeman', 'Zemanová'], ['Kolář', 'Kolářová'], ['Navrátil', 'Navrátilová'], ['Čermák', 'Čermáková'],
  ['Urban', 'Urbanová'], ['Vaněk', 'Vaňková'], ['Blažek', 'Blažková'], ['Kříž', 'Křížová'], ['Kovář', 'Kovářová'],
  ['Bartoš', 'Bartošová'], ['Vlček', 'Vlčková'], ['Polák', 'Poláková'], ['Musil', 'Musilová'], ['Kopecký', 'Kopecká'],
  ['Šimek', 'Šimková'], ['Konečný', 'Konečná'], ['Malý', 'Malá'], ['Holub', 'Holubová'], ['Štěpánek', 'Štěpánková'],
  ['Kadlec', 'Kadlecová'], ['Staněk', 'Staňková'], ['Dostál', 'Dostálová'], ['Soukup', 'Soukupová'], ['Šťastný', 'Šťastná'],
  ['Mareš', 'Marešová'], ['Moravec', 'Moravcová'], ['Sýkora', 'Sýkorová'], ['Tichý', 'Tichá'], ['Valenta', 'Valentová'],
  ['Vávra', 'Vávrová'], ['Matoušek', 'Matoušková'], ['Bláha', 'Bláhová'], ['Říha', 'Říhová'], ['Ševčík', 'Ševčíková'],
  ['Bureš', 'Burešová'], ['Hruška', 'Hrušková'], ['Mašek', 'Mašková'], ['Pavlík', 'Pavlíková'], ['Janda', 'Jandová'],
  ['Hrubý', 'Hrubá'], ['Kratochvíl', 'Kratochvílová'], ['Machala', 'Machalová'], ['Lukáš', 'Lukášová'], ['Žák', 'Žáková'],
  ['Šebesta', 'Šebestová'], ['Havlíček', 'Havlíčková'], ['Chalupa', 'Chalupová'], ['Skála', 'Skálová'], ['Vondráček', 'Vondráčková'],
];

/** City, PSČ, weight (roughly by size, so Prague and Brno dominate). */
export const CITIES: readonly (readonly [string, string, number])[] = [
  ['Praha 1', '110 00', 4], ['Praha 2', '120 00', 4], ['Praha 4', '140 00', 6], ['Praha 5', '150 00', 5], ['Praha 6', '160 00', 4],
  ['Praha 8', '180 00', 4], ['Praha 9', '190 00', 3], ['Praha 10', '100 00', 5], ['Brno', '602 00', 8], ['Brno', '612 00', 3],
  ['Brno', '615 00', 2], ['Ostrava', '702 00', 5], ['Ostrava', '700 30', 2], ['Plzeň', '301 00', 4], ['Plzeň', '326 00', 1],
  ['Liberec', '460 01', 3], ['Olomouc', '779 00', 3], ['České Budějovice', '370 01', 3], ['Hradec Králové', '500 02', 3],
  ['Ústí nad Labem', '400 01', 2], ['Pardubice', '530 02', 2], ['Zlín', '760 01', 2], ['Havířov', '736 01', 1], ['Kladno', '272 01', 2],
  ['Most', '434 01', 1], ['Opava', '746 01', 1], ['Frýdek-Místek', '738 01', 1], ['Karviná', '733 01', 1], ['Jihlava', '586 01', 2],
  ['Teplice', '415 01', 1], ['Děčín', '405 02', 1], ['Karlovy Vary', '360 01', 1], ['Chomutov', '430 01', 1],
  ['Jablonec nad Nisou', '466 01', 1], ['Mladá Boleslav', '293 01', 2], ['Prostějov', '796 01', 1], ['Přerov', '750 02', 1],
  ['Česká Lípa', '470 01', 1], ['Třebíč', '674 01', 1], ['Třinec', '739 61', 1], ['Tábor', '390 01', 1], ['Znojmo', '669 02', 1],
  ['Kolín', '280 02', 1], ['Příbram', '261 01', 1], ['Cheb', '350 02', 1], ['Písek', '397 01', 1], ['Trutnov', '541 01', 1],
  ['Kroměříž', '767 01', 1], ['Vsetín', '755 01', 1], ['Šumperk', '787 01', 1], ['Uherské Hradiště', '686 01', 1],
  ['Břeclav', '690 02', 1], ['Hodonín', '695 01', 1], ['Český Krumlov', '381 01', 1], ['Kutná Hora', '284 01', 1],
];

export const SK_CITIES: readonly (readonly [string, string])[] = [
  ['Bratislava', '811 01'], ['Košice', '040 01'], ['Žilina', '010 01'], ['Nitra', '949 01'], ['Trnava', '917 01'],
];

export const STREETS = [
  'Husova', 'Masarykova', 'Nádražní', 'Palackého', 'Komenského', 'Sokolská', 'Školní', 'Zahradní', 'Jiráskova', 'Tyršova',
  'Smetanova', 'Dvořákova', 'Nerudova', 'Havlíčkova', 'Riegrova', 'Žižkova', 'Kollárova', 'Štefánikova', 'Revoluční',
  'Lidická', 'Vinohradská', 'U Stadionu', 'Pražská', 'Brněnská', 'Sadová', 'Lesní', 'Polní', 'Krátká', 'Dlouhá', 'Karlova',
  'Vítězná', 'Legionářská', '28. října', 'Československé armády', 'náměstí Míru', 'Masarykovo náměstí', 'Na Výsluní',
  'U Potoka', 'K Nádraží', 'Průmyslová',
] as const;

/** Company name parts: "Kovo" + "obchod" + " Morava" → "Kovoobchod Morava s.r.o.". */
export const COMPANY_PREFIX = ['Agro', 'Stav', 'Elektro', 'Tech', 'Data', 'Kovo', 'Dřevo', 'Bio', 'Eko', 'Inter', 'Auto', 'Geo', 'Termo', 'Medi', 'Info', 'Profi'] as const;
export const COMPANY_SUFFIX = ['servis', 'plast', 'trans', 'montáže', 'soft', 'systémy', 'obchod', 'stav', 'tech', 'print', 'media', 'energie', 'logistika', 'projekt', 'mont'] as const;
export const COMPANY_REGION = ['Morava', 'Bohemia', 'Vltava', 'Labe', 'Šumava', 'Krkonoše', 'Praha', 'Brno', 'Haná', 'Slezsko', 'Vysočina', 'Podlesí', 'CZ', 'Group', 'Plus'] as const;
/** Feminine and masculine-inanimate plural adjectives share the -é ending: "Moravské strojírny", "Pražské pivovary". */
export const AS_ADJECTIVE = ['Moravské', 'Pražské', 'Jihočeské', 'Severočeské', 'Východočeské', 'Západočeské', 'Slezské', 'Brněnské', 'Plzeňské', 'Olomoucké'] as const;
export const AS_NOUN = ['strojírny', 'pekárny', 'mlékárny', 'tiskárny', 'slévárny', 'papírny', 'cihelny', 'sklárny', 'pivovary', 'vodárny', 'teplárny', 'stavby'] as const;

export const PERSON_DOMAINS = ['seznam.cz', 'email.cz', 'centrum.cz', 'gmail.com', 'post.cz', 'volny.cz', 'atlas.cz', 'outlook.com'] as const;
export const COMPANY_MAILBOXES = ['info', 'obchod', 'kancelar', 'fakturace', 'objednavky', 'podpora'] as const;
export const MOBILE_PREFIXES = ['601', '602', '603', '604', '605', '606', '607', '608', '702', '720', '721', '722', '723', '724', '725', '728', '731', '732', '733', '734', '736', '737', '739', '773', '774', '775', '776', '777'] as const;
export const LANDLINE_PREFIXES = ['222', '224', '226', '233', '241', '251', '266', '271', '281', '283', '541', '543', '545', '596', '597', '377', '485', '585', '387', '495', '475', '466', '577'] as const;

export const NOTES = [
  'Preferuje kontakt e-mailem.', 'Volat spíše dopoledne.', 'Platí vždy včas.', 'Fakturovat na mateřskou společnost.',
  'Kontakt z veletrhu Stavotech.', 'Má zájem o pravidelné dodávky.', 'Pozor: změna sídla od ledna.', 'Doporučeno stávajícím klientem.',
  'Požaduje dodací list v papírové podobě.', 'Rozhoduje jednatel, ne nákupčí.', 'Sezónní odběratel (jaro a podzim).',
] as const;

/** Goods and services: name, unit, price without VAT in haléře, VAT rate in basis points. */
export const PRODUCTS: readonly (readonly [string, 'ks' | 'kg' | 'h' | 'm', number, number])[] = [
  ['Kancelářský papír A4, 80 g, 500 listů', 'ks', 12900, 2100],
  ['Toner HP 26A, černý', 'ks', 219000, 2100],
  ['Tiskárna Brother HL-L2350DW', 'ks', 349000, 2100],
  ['USB flash disk Kingston 64 GB', 'ks', 25900, 2100],
  ['Monitor Dell P2423, 24"', 'ks', 599000, 2100],
  ['Kancelářská židle ErgoLine', 'ks', 459000, 2100],
  ['Sešívačka Rapid F16', 'ks', 38900, 2100],
  ['Kuličkové pero Centropen, modré', 'ks', 1990, 2100],
  ['Notebook Lenovo ThinkPad E14', 'ks', 2199000, 2100],
  ['Síťový kabel Cat6, 5 m', 'ks', 14900, 2100],
  ['Bezpečnostní vložka FAB 3*', 'ks', 129000, 2100],
  ['Aku vrtačka Bosch PSR 1800', 'ks', 289000, 2100],
  ['Pracovní rukavice, vel. 10', 'ks', 4900, 2100],
  ['Archivační krabice, hnědá', 'ks', 5900, 2100],
  ['Router TP-Link Archer AX55', 'ks', 219000, 2100],
  ['Kávovar DeLonghi Magnifica', 'ks', 899000, 2100],
  ['Ubytování – jednolůžkový pokoj, 1 noc', 'ks', 149000, 1200],
  ['Kniha: Účetnictví v kostce 2026', 'ks', 44900, 0],
  ['Kniha: Daňové zákony 2026', 'ks', 32900, 0],
  ['Káva zrnková Arabica', 'kg', 48900, 1200],
  ['Mouka hladká T530', 'kg', 1890, 1200],
  ['Cukr krupice', 'kg', 2490, 1200],
  ['Sýr Eidam 30 %', 'kg', 15900, 1200],
  ['Jablka Golden Delicious', 'kg', 3490, 1200],
  ['Hřebíky stavební 50 mm', 'kg', 8900, 2100],
  ['Sůl posypová', 'kg', 1250, 2100],
  ['Cement CEM II 32,5 R', 'kg', 490, 2100],
  ['Servisní práce – technik', 'h', 65000, 2100],
  ['Konzultace IT', 'h', 120000, 2100],
  ['Montáž a instalace', 'h', 55000, 2100],
  ['Školení obsluhy', 'h', 90000, 2100],
  ['Programátorské práce', 'h', 150000, 2100],
  ['Doprava – řidič a vůz', 'h', 75000, 2100],
  ['Kabel CYKY-J 3×2,5', 'm', 3890, 2100],
  ['Kabel UTP Cat6', 'm', 1250, 2100],
  ['Vkládací lišta 20×20', 'm', 4500, 2100],
  ['Zahradní hadice 1/2"', 'm', 2990, 2100],
  ['Bavlněná látka, šíře 140 cm', 'm', 18900, 2100],
];

export const ORDER_NOTES = [
  'Doručit na pobočku.', 'Fakturu zaslat e-mailem.', 'Zboží vyzvedne osobně.', 'Dodat do konce měsíce.',
  'Zákazník žádá dodání dopoledne.', 'Částečná dodávka povolena.',
] as const;

export const CONTRACT_TITLES = [
  'Rámcová kupní smlouva', 'Servisní smlouva – tiskárny', 'Smlouva o dílo', 'Nájemní smlouva – sklad',
  'Smlouva o poskytování IT služeb', 'Licenční smlouva', 'Smlouva o mlčenlivosti', 'Smlouva o pravidelných dodávkách',
  'Smlouva o zpracování osobních údajů', 'Smlouva o údržbě', 'Dohoda o spolupráci', 'Smlouva o obchodním zastoupení',
] as const;

export const ACTIVITY_SUBJECTS: Record<'call' | 'meeting' | 'task' | 'email', readonly string[]> = {
  call: ['Telefonát: nabídka na příští rok', 'Telefonát: reklamace dodávky', 'Ověřit termín dodání', 'Telefonát: prodloužení smlouvy', 'Zpětná vazba k servisu'],
  meeting: ['Schůzka: prezentace novinek', 'Schůzka u klienta: roční vyhodnocení', 'Jednání o rámcové smlouvě', 'Předání zakázky', 'Návštěva provozovny'],
  task: ['Poslat cenovou nabídku', 'Připravit návrh smlouvy', 'Zkontrolovat neuhrazené faktury', 'Aktualizovat kontaktní údaje', 'Objednat vzorky'],
  email: ['E-mail: potvrzení objednávky', 'E-mail: podklady k nabídce', 'E-mail: pozvánka na veletrh', 'E-mail: změna ceníku', 'E-mail: dotaz na dostupnost'],
};
