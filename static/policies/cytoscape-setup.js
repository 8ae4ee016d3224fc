// Registers the fcose layout with cytoscape (both loaded as classic scripts just before this one).
window.cytoscape.use(window.cytoscapeFcose);
