"""The taxonomy as data: attribute values, the L1 → L2 → L3 tree with brands, nouns and
median prices, and the model-line names of product titles (see :mod:`.taxonomy`)."""

from __future__ import annotations

# kind -> (values as written in titles, ordered: does the price rise with the value index?)
ATTRIBUTES: dict[str, tuple[tuple[str, ...], bool]] = {
    "color": (("Negro", "Blanco", "Azul", "Rojo", "Gris", "Verde", "Rosado", "Plateado", "Beige"), False),
    "capacidad": (("64 GB", "128 GB", "256 GB", "512 GB"), True),
    "ram": (("8 GB RAM", "16 GB RAM", "32 GB RAM"), True),
    "disco": (("256 GB SSD", "512 GB SSD", "1 TB SSD"), True),
    "carga": (("20 W", "33 W", "65 W"), True),
    "pulgadas_monitor": (("22 pulgadas", "24 pulgadas", "27 pulgadas", "32 pulgadas"), True),
    "pulgadas_tv": (("32 pulgadas", "43 pulgadas", "50 pulgadas", "55 pulgadas", "65 pulgadas"), True),
    "potencia": (("600 W", "800 W", "1000 W", "1200 W", "1500 W"), True),
    "material": (("Acero inoxidable", "Aluminio", "Hierro fundido", "Antiadherente"), False),
    "diametro": (("20 cm", "24 cm", "28 cm"), True),
    "capacidad_l": (("3.5 L", "4 L", "5.5 L"), True),
    "litros": (("250 L", "320 L", "400 L", "500 L"), True),
    "kilos": (("12 kg", "16 kg", "19 kg"), True),
    "litros_micro": (("20 L", "25 L", "30 L"), True),
    "tapiz": (("Tela", "Cuero sintético", "Lino", "Pana"), False),
    "plazas": (("1 plaza", "1.5 plazas", "2 plazas", "Queen", "King"), True),
    "watts_led": (("9 W", "12 W", "15 W"), True),
    "talla": (("talla XS", "talla S", "talla M", "talla L", "talla XL"), False),
    "calzado": (tuple(f"talla {n}" for n in range(36, 45)), False),
    "peso_kg": (("2 kg", "5 kg", "10 kg"), True),
    "aro": (("aro 16", "aro 20", "aro 26", "aro 29"), True),
    "numero_balon": (("número 3", "número 4", "número 5"), False),
    "personas": (("2 personas", "4 personas", "6 personas"), True),
    "tono_labial": (("Rojo pasión", "Nude", "Coral", "Vino", "Rosa"), False),
    "tono": (("Marfil", "Claro", "Medio", "Canela", "Oscuro"), False),
    "volumen": (("200 ml", "400 ml", "750 ml", "1 L"), True),
    "fps": (("FPS 30", "FPS 50", "FPS 50+"), True),
    "piezas": (("100 piezas", "500 piezas", "1000 piezas"), True),
    "edad": (("3+ años", "6+ años", "8+ años", "12+ años"), False),
    "talla_panal": (("talla P", "talla M", "talla G", "talla XG"), False),
    "sabor": (("Original", "Limón", "Naranja", "Fresa", "Chocolate", "Vainilla"), False),
    "peso": (("250 g", "500 g", "1 kg", "2 kg"), True),
    "bebida": (("500 ml", "1.5 L", "2 L", "3 L"), True),
    "saco": (("1 kg", "3 kg", "8 kg", "15 kg"), True),
    "juego_piezas": (("6 piezas", "12 piezas", "24 piezas"), True),
}

# L1 -> L2 -> (brands, {L3: (noun, attribute kinds, median price, weight)})
LeafSpec = tuple[str, tuple[str, ...], float, float]
TREE: dict[str, dict[str, tuple[tuple[str, ...], dict[str, LeafSpec]]]] = {
    "Electrónica": {
        "Celulares": (
            ("Samsung", "Motorola", "Xiaomi", "Apple", "Huawei", "Oppo", "Realme", "Honor"),
            {
                "Smartphones": ("Celular", ("capacidad", "color"), 280.0, 3.0),
                "Fundas y protectores": ("Funda", ("color",), 12.0, 1.2),
                "Cargadores": ("Cargador", ("carga",), 20.0, 1.0),
            },
        ),
        "Computación": (
            ("Lenovo", "HP", "Dell", "Asus", "Acer", "Apple", "Logitech"),
            {
                "Notebooks": ("Notebook", ("ram", "disco"), 650.0, 1.8),
                "Monitores": ("Monitor", ("pulgadas_monitor",), 180.0, 1.0),
                "Teclados": ("Teclado", ("color",), 30.0, 0.8),
            },
        ),
        "Audio": (
            ("Sony", "JBL", "Bose", "Philips", "Xiaomi", "Samsung"),
            {
                "Audífonos": ("Audífonos", ("color",), 45.0, 1.6),
                "Parlantes": ("Parlante", ("potencia", "color"), 60.0, 1.0),
            },
        ),
        "Televisores": (
            ("Samsung", "LG", "Sony", "TCL", "Hisense", "Philips"),
            {
                "Smart TV": ("Televisor", ("pulgadas_tv",), 420.0, 1.4),
                "Proyectores": ("Proyector", (), 230.0, 0.4),
            },
        ),
        "Videojuegos": (
            ("Sony", "Microsoft", "Nintendo", "Logitech", "Redragon"),
            {
                "Consolas": ("Consola", ("capacidad",), 420.0, 0.7),
                "Controles": ("Control", ("color",), 55.0, 0.7),
            },
        ),
        "Cámaras": (
            ("Canon", "Nikon", "Sony", "GoPro", "Fujifilm"),
            {
                "Cámaras digitales": ("Cámara", ("color",), 520.0, 0.6),
                "Cámaras deportivas": ("Cámara deportiva", (), 220.0, 0.4),
            },
        ),
    },
    "Hogar": {
        "Cocina": (
            ("Oster", "Philips", "Black+Decker", "Imusa", "Tramontina", "Hamilton Beach"),
            {
                "Licuadoras": ("Licuadora", ("potencia", "color"), 60.0, 1.0),
                "Cafeteras": ("Cafetera", ("color",), 70.0, 0.9),
                "Sartenes": ("Sartén", ("material", "diametro"), 30.0, 1.0),
                "Freidoras de aire": ("Freidora de aire", ("capacidad_l", "color"), 90.0, 1.1),
            },
        ),
        "Electrodomésticos": (
            ("Samsung", "LG", "Mabe", "Whirlpool", "Electrolux", "Haceb"),
            {
                "Refrigeradores": ("Refrigerador", ("litros", "color"), 750.0, 0.9),
                "Lavadoras": ("Lavadora", ("kilos",), 520.0, 0.8),
                "Microondas": ("Microondas", ("litros_micro", "color"), 120.0, 0.7),
            },
        ),
        "Muebles": (
            ("Madesa", "Tuhome", "Mica", "Rta Design", "Kiwi Home"),
            {
                "Sofás": ("Sofá", ("color", "tapiz"), 450.0, 0.8),
                "Escritorios": ("Escritorio", ("color",), 150.0, 0.8),
                "Sillas": ("Silla", ("color",), 80.0, 1.0),
            },
        ),
        "Dormitorio": (
            ("Rosen", "Cannon", "Paraíso", "Simmons", "Drimer"),
            {
                "Colchones": ("Colchón", ("plazas",), 350.0, 0.8),
                "Almohadas": ("Almohada", (), 25.0, 0.6),
                "Sábanas": ("Juego de sábanas", ("plazas", "color"), 35.0, 0.7),
            },
        ),
        "Iluminación": (
            ("Philips", "Osram", "Lexman", "Westinghouse"),
            {
                "Lámparas": ("Lámpara", ("color",), 35.0, 0.6),
                "Focos LED": ("Foco LED", ("watts_led",), 6.0, 0.5),
            },
        ),
    },
    "Moda": {
        "Ropa de mujer": (
            ("Zara", "Mango", "Koaj", "Studio F", "Ela", "Forever 21"),
            {
                "Vestidos": ("Vestido", ("talla", "color"), 40.0, 1.3),
                "Blusas": ("Blusa", ("talla", "color"), 22.0, 1.2),
                "Jeans": ("Jean", ("talla", "color"), 38.0, 1.2),
            },
        ),
        "Ropa de hombre": (
            ("Levi's", "Koaj", "Arturo Calle", "Tommy Hilfiger", "Lacoste", "Zara"),
            {
                "Remeras": ("Remera", ("talla", "color"), 18.0, 1.3),
                "Pantalones": ("Pantalón", ("talla", "color"), 35.0, 1.0),
                "Camisas": ("Camisa", ("talla", "color"), 30.0, 1.0),
                "Chaquetas": ("Chaqueta", ("talla", "color"), 65.0, 0.8),
            },
        ),
        "Calzado": (
            ("Nike", "Adidas", "Puma", "Skechers", "Converse", "Vans", "Reebok"),
            {
                "Zapatillas urbanas": ("Zapatillas", ("calzado", "color"), 70.0, 1.6),
                "Sandalias": ("Sandalias", ("calzado", "color"), 25.0, 0.8),
                "Botas": ("Botas", ("calzado", "color"), 80.0, 0.7),
            },
        ),
        "Accesorios": (
            ("Casio", "Fossil", "Ray-Ban", "Samsonite", "Totto"),
            {
                "Relojes": ("Reloj", ("color",), 90.0, 0.9),
                "Mochilas": ("Mochila", ("color",), 40.0, 0.9),
                "Lentes de sol": ("Lentes de sol", ("color",), 70.0, 0.6),
            },
        ),
    },
    "Deportes": {
        "Fitness": (
            ("Everlast", "Reebok", "Adidas", "Bowflex", "Sportfitness"),
            {
                "Mancuernas": ("Mancuernas", ("peso_kg",), 35.0, 0.7),
                "Bicicletas estáticas": ("Bicicleta estática", (), 300.0, 0.4),
                "Yoga": ("Mat de yoga", ("color",), 20.0, 0.6),
            },
        ),
        "Ciclismo": (
            ("Trek", "Specialized", "GW", "Giant", "Oxford"),
            {
                "Bicicletas": ("Bicicleta", ("aro", "color"), 380.0, 0.7),
                "Cascos": ("Casco", ("talla", "color"), 45.0, 0.5),
            },
        ),
        "Running": (
            ("Nike", "Adidas", "Asics", "New Balance", "Under Armour", "Puma"),
            {
                "Zapatillas de running": ("Zapatillas running", ("calzado", "color"), 95.0, 1.1),
                "Shorts deportivos": ("Short deportivo", ("talla", "color"), 22.0, 0.7),
            },
        ),
        "Fútbol": (
            ("Adidas", "Nike", "Puma", "Umbro", "Golty"),
            {
                "Balones": ("Balón", ("numero_balon",), 30.0, 0.7),
                "Camisetas de fútbol": ("Camiseta de fútbol", ("talla",), 60.0, 0.8),
                "Botines": ("Botines", ("calzado",), 75.0, 0.7),
            },
        ),
        "Camping": (
            ("Coleman", "Doite", "Quechua", "Klimber"),
            {
                "Carpas": ("Carpa", ("personas",), 110.0, 0.5),
                "Sacos de dormir": ("Saco de dormir", ("color",), 45.0, 0.4),
            },
        ),
    },
    "Belleza": {
        "Maquillaje": (
            ("Maybelline", "L'Oréal", "MAC", "Revlon", "Vogue", "Ésika"),
            {
                "Labiales": ("Labial", ("tono_labial",), 12.0, 0.9),
                "Bases": ("Base de maquillaje", ("tono",), 18.0, 0.7),
                "Máscaras de pestañas": ("Máscara de pestañas", (), 11.0, 0.6),
            },
        ),
        "Cuidado del cabello": (
            ("Pantene", "Head & Shoulders", "Sedal", "Elvive", "Dove", "Remington"),
            {
                "Champús": ("Champú", ("volumen",), 8.0, 0.9),
                "Secadores": ("Secador de pelo", ("potencia",), 40.0, 0.5),
                "Planchas de pelo": ("Plancha de pelo", ("color",), 45.0, 0.5),
            },
        ),
        "Cuidado de la piel": (
            ("Nivea", "Neutrogena", "La Roche-Posay", "Cetaphil", "Eucerin"),
            {
                "Cremas faciales": ("Crema facial", ("volumen",), 20.0, 0.8),
                "Protectores solares": ("Protector solar", ("fps", "volumen"), 16.0, 0.7),
            },
        ),
        "Perfumes": (
            ("Natura", "Carolina Herrera", "Calvin Klein", "Hugo Boss", "Antonio Banderas"),
            {
                "Perfumes de mujer": ("Perfume", ("volumen",), 60.0, 0.8),
                "Perfumes de hombre": ("Colonia", ("volumen",), 55.0, 0.7),
            },
        ),
    },
    "Juguetes": {
        "Construcción": (
            ("Lego", "Mega Bloks", "Playmobil"),
            {"Bloques": ("Set de bloques", ("piezas", "edad"), 45.0, 0.8)},
        ),
        "Muñecas y figuras": (
            ("Mattel", "Hasbro", "Bandai", "Funko"),
            {
                "Muñecas": ("Muñeca", ("edad",), 25.0, 0.7),
                "Figuras de acción": ("Figura de acción", ("edad",), 20.0, 0.7),
            },
        ),
        "Juegos de mesa": (
            ("Hasbro", "Ruibal", "Devir", "Mattel"),
            {
                "Juegos de tablero": ("Juego de mesa", ("edad",), 30.0, 0.6),
                "Rompecabezas": ("Rompecabezas", ("piezas",), 15.0, 0.6),
            },
        ),
        "Vehículos de juguete": (
            ("Hot Wheels", "Maisto", "Fisher-Price"),
            {
                "Autos a control remoto": ("Auto a control remoto", ("color",), 40.0, 0.6),
                "Pistas": ("Pista de autos", (), 35.0, 0.4),
            },
        ),
        "Bebés": (
            ("Fisher-Price", "Chicco", "Infanti", "Pampers", "Huggies"),
            {
                "Coches de bebé": ("Coche de bebé", ("color",), 180.0, 0.5),
                "Pañales": ("Pañales", ("talla_panal",), 15.0, 0.8),
            },
        ),
    },
    "Supermercado": {
        "Bebidas": (
            ("Coca-Cola", "Pepsi", "Postobón", "Inca Kola", "Cristal", "Del Valle"),
            {
                "Gaseosas": ("Gaseosa", ("bebida",), 2.0, 0.9),
                "Aguas": ("Agua mineral", ("bebida",), 1.2, 0.6),
                "Jugos": ("Jugo", ("sabor", "bebida"), 2.0, 0.7),
            },
        ),
        "Despensa": (
            ("Nestlé", "Carozzi", "Doria", "Colombina", "Arcor", "La Serenísima"),
            {
                "Café": ("Café", ("peso",), 8.0, 0.7),
                "Pastas": ("Fideos", ("peso",), 1.5, 0.7),
                "Arroz": ("Arroz", ("peso",), 2.0, 0.6),
                "Aceites": ("Aceite", ("bebida",), 4.0, 0.6),
            },
        ),
        "Limpieza": (
            ("Ariel", "Ace", "Fab", "Clorox", "Vanish", "Poett", "Downy"),
            {
                "Detergentes": ("Detergente", ("peso",), 9.0, 0.7),
                "Suavizantes": ("Suavizante", ("bebida",), 6.0, 0.5),
                "Limpiadores": ("Limpiador multiuso", ("volumen",), 4.0, 0.6),
            },
        ),
        "Snacks": (
            ("Lay's", "Pringles", "Doritos", "Oreo", "Arcor", "Nestlé"),
            {
                "Papas fritas": ("Papas fritas", ("sabor", "peso"), 2.5, 0.7),
                "Galletas": ("Galletas", ("sabor",), 1.8, 0.7),
                "Chocolates": ("Chocolate", ("peso",), 2.2, 0.6),
            },
        ),
    },
    "Mascotas": {
        "Perros": (
            ("Pedigree", "Dog Chow", "Royal Canin", "Pro Plan", "Hill's"),
            {
                "Alimento para perros": ("Alimento para perro", ("saco",), 35.0, 0.9),
                "Juguetes para perros": ("Juguete para perro", ("color",), 8.0, 0.5),
            },
        ),
        "Gatos": (
            ("Whiskas", "Cat Chow", "Royal Canin", "Pro Plan", "Felix"),
            {
                "Alimento para gatos": ("Alimento para gato", ("saco",), 28.0, 0.7),
                "Arenas sanitarias": ("Arena para gato", ("saco",), 12.0, 0.5),
            },
        ),
    },
    "Herramientas": {
        "Herramientas eléctricas": (
            ("Bosch", "DeWalt", "Black+Decker", "Makita", "Stanley", "Truper"),
            {
                "Taladros": ("Taladro", ("potencia",), 70.0, 0.7),
                "Sierras": ("Sierra circular", ("potencia",), 110.0, 0.4),
            },
        ),
        "Herramientas manuales": (
            ("Stanley", "Truper", "Tramontina", "Bahco"),
            {
                "Destornilladores": ("Juego de destornilladores", ("juego_piezas",), 18.0, 0.5),
                "Martillos": ("Martillo", (), 12.0, 0.4),
            },
        ),
    },
}

MODEL_LINES: tuple[str, ...] = (
    "Nova", "Pro", "Max", "Lite", "Plus", "Ultra", "Prime", "Eco", "Smart", "Air",
    "One", "Go", "Neo", "Star", "Fit", "Flex", "Zen", "Vita", "Urban", "Classic",
)  # fmt: skip
